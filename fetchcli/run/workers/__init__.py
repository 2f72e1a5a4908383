"""--workers: forked processes fed by the parent, their results merged back."""
