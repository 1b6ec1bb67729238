-- Poor share of sessions grouped by {{ dimension }}.
select coalesce({{ dimension }}, 'unknown') as value, round(100.0 * sum(s.verdict = 'poor') / count(*), 1) as poor_pct,
  count(*) as sessions
from media_sessions s where 1 {{ session_filters }}
group by value order by poor_pct desc
