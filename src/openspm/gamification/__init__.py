"""Gamification: leaderboards on any measure, contests and SPIF campaigns with rules in the plan language, badges
and milestones, in-app notifications; a rep may opt out of public ranking."""
