select s.join_time, m.title, m.id as meeting_id, s.provider, s.client_type, s.network_type,
  s.server_region, s.location, s.verdict, s.verdict_reason
from media_sessions s join meetings m on m.id = s.meeting_id
where s.user_email = lower(:email)
order by s.join_time desc limit 500
