"""Insights: what to sell and how it is going. KPIs and data quality, forecasting (stage probabilities, a
calibrated win-probability model, time series, commits, accuracy), rep what-if and plan modeling, all read from
the same store and computed with the same engine as pay."""
