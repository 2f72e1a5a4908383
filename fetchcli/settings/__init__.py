"""The settings of a run: the frozen Config, the parsers of option values, the options."""
