select s.join_time, s.user_email, m.title, m.id as meeting_id, s.provider, s.account, s.network_type,
  s.client_type, s.server_region, s.location, s.verdict_reason
from media_sessions s join meetings m on m.id = s.meeting_id
where s.verdict = 'poor' and s.join_time >= :since and (:vendor = '' or s.provider = :vendor)
order by s.join_time desc limit 1000
