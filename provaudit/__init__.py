"""provaudit: where did this dataset or model come from, and which licenses really apply."""

__version__ = "0.1.0"
