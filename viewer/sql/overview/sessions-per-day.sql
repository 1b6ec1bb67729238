select substr(s.join_time, 1, 10) as day, coalesce(s.verdict, 'unknown') as verdict, count(*) as sessions
from media_sessions s where 1 {{ session_filters }}
group by day, verdict order by day
