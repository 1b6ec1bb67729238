select h(s.user_email) as person, sum(s.verdict = 'poor') as poor_sessions, count(*) as sessions,
  h(group_concat(distinct s.network_type)) as networks
from media_sessions s where 1 {{ session_filters }}
group by s.user_email having poor_sessions > 0 order by poor_sessions desc, sessions desc limit 15
