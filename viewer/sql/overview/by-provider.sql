select s.provider as vendor, v.verdict, round(100.0 * sum(s.verdict = v.verdict) / count(*), 1) as pct,
  count(*) as sessions
from media_sessions s join (select 'fair' as verdict union all select 'poor') v
where 1 {{ session_filters }}
group by s.provider, v.verdict order by s.provider
