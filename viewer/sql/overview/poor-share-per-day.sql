select substr(s.join_time, 1, 10) as day, round(100.0 * sum(s.verdict = 'poor') / count(*), 1) as poor_pct
from media_sessions s where 1 {{ session_filters }}
group by day order by day
