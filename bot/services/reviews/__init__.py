"""Gate reviews and sign-offs, the lifecycle around them (pause, resume, retire, override), decision records."""
