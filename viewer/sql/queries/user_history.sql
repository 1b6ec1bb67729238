select s.user_email as email, s.user_name as name, local(s.join_time) as joined, m.title, s.provider, s.client_type,
  s.network_type, coalesce(s.server_region, s.location) as region_or_location, s.verdict, s.verdict_reason,
  s.shared_cause, '/-/dashboards/session?session=' || s.id as session_page,
  '/-/dashboards/meeting?meeting=' || q(m.id) as meeting_page, m.id as meeting_id
from media_sessions s join meetings m on m.id = s.meeting_id
where s.user_email = lower(:email)
order by s.join_time desc limit 500
