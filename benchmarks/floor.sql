-- The floor of the engine benchmark: the core calculation of benchmarks/bench_plan.yaml's `commission`
-- component, hand-written in DuckDB SQL over the same Parquet files (benchmarks/engine_bench.py fills in
-- {dir}, {year_start}, {month_start} and {month_end}; statements are separated by a line holding only ';').
--
-- effective-dated direct credit (account owner as of the original's date for returns) → two roll-up levels
-- (reporting lines as of that date) → FX to USD at the latest rate on or before the transaction date →
-- payees on the plan on the credit date → year-to-date bookings through the paid month and through the month
-- before → marginal tiers on attainment (bounds × the FY2025 quota) → cap 2 × target incentive → rounded to
-- cents half-up → the month pays the to-date earning minus last month's (a true-up that claws).
CREATE OR REPLACE MACRO marginal(b, q) AS
    0.05 * greatest(least(b, q), 0)
    + 0.08 * greatest(least(b, 1.5 * q) - q, 0)
    + 0.10 * greatest(b - 1.5 * q, 0)
;
WITH
tx AS (
    SELECT id, date, account_id, amount, currency, original_id FROM read_parquet('{dir}/transactions.parquet')
),
lines AS (
    SELECT t.id, t.date, t.amount, t.currency,
           coalesce(o.date, t.date) AS basis_date,
           coalesce(o.account_id, t.account_id) AS basis_account
    FROM tx t LEFT JOIN tx o ON t.original_id = o.id
    WHERE t.date >= DATE '{year_start}' AND t.date < DATE '{month_end}'
),
fx AS (
    SELECT from_currency, effective_date, rate
    FROM read_parquet('{dir}/fx_rates.parquet') WHERE to_currency = 'USD'
),
usd AS (
    SELECT l.date, l.basis_date, l.basis_account,
           CASE WHEN l.currency = 'USD' THEN l.amount ELSE CAST(l.amount * f.rate AS DECIMAL(38, 12)) END AS usd
    FROM lines l ASOF LEFT JOIN fx f ON l.currency = f.from_currency AND l.date >= f.effective_date
),
owners AS (
    SELECT account_id, payee_id, share, effective_from, effective_to
    FROM read_parquet('{dir}/account_assignments.parquet') WHERE role = 'owner'
),
rl AS (SELECT payee_id, manager_id, effective_from, effective_to FROM read_parquet('{dir}/reporting_lines.parquet')),
direct AS (
    SELECT u.date, u.basis_date, a.payee_id, CAST(u.usd * a.share AS DECIMAL(38, 12)) AS amount
    FROM usd u JOIN owners a
      ON a.account_id = u.basis_account AND a.effective_from <= u.basis_date
     AND (a.effective_to IS NULL OR u.basis_date < a.effective_to)
    WHERE u.usd IS NOT NULL
),
level1 AS (
    SELECT d.date, d.basis_date, r.manager_id AS payee_id, d.amount
    FROM direct d JOIN rl r
      ON r.payee_id = d.payee_id AND r.effective_from <= d.basis_date
     AND (r.effective_to IS NULL OR d.basis_date < r.effective_to)
),
level2 AS (
    SELECT d.date, d.basis_date, r.manager_id AS payee_id, d.amount
    FROM level1 d JOIN rl r
      ON r.payee_id = d.payee_id AND r.effective_from <= d.basis_date
     AND (r.effective_to IS NULL OR d.basis_date < r.effective_to)
),
credits AS (SELECT * FROM direct UNION ALL SELECT * FROM level1 UNION ALL SELECT * FROM level2),
on_plan AS (
    SELECT payee_id, effective_from, effective_to, target_incentive
    FROM read_parquet('{dir}/plan_assignments.parquet') WHERE plan = 'bench'
),
ytd AS (
    SELECT c.payee_id,
           sum(c.amount) AS now,
           coalesce(sum(c.amount) FILTER (WHERE c.date < DATE '{month_start}'), 0) AS before
    FROM credits c JOIN on_plan p
      ON p.payee_id = c.payee_id AND p.effective_from <= c.date AND (p.effective_to IS NULL OR c.date < p.effective_to)
    GROUP BY c.payee_id
),
earned AS (
    SELECT y.payee_id,
           round(least(marginal(y.now, q.amount), 2 * p.target_incentive), 2) AS to_date,
           round(least(marginal(y.before, q.amount), 2 * p.target_incentive), 2) AS earlier
    FROM ytd y
    JOIN read_parquet('{dir}/quotas.parquet') q
      ON q.payee_id = y.payee_id AND q.measure = 'bookings_ytd' AND q.period = 'FY2025'
    JOIN on_plan p
      ON p.payee_id = y.payee_id AND p.effective_from < DATE '{month_end}'
     AND (p.effective_to IS NULL OR p.effective_to > DATE '{month_start}')
)
SELECT payee_id, CAST(to_date - earlier AS VARCHAR) AS amount FROM earned ORDER BY payee_id
