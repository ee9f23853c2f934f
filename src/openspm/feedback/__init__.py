"""Feedback on plan design: comment threads and short surveys on a plan version, raised by reps and managers and
visible to the plan's designers."""
