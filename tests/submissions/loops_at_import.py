"""Bad submission: an endless training loop at module level."""

while True:
    pass
