"""Gate outcomes besides Go: Hold, Recycle, Kill."""
