"""Tools for trained runs: evaluation (categorical accuracy, code correlations) and sampling."""
