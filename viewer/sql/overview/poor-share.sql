select round(100.0 * sum(s.verdict = 'poor') / max(count(*), 1), 1) as pct
from media_sessions s where 1 {{ session_filters }}
