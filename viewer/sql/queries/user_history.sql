-- One person's sessions, newest first: :email is an address (any case), or part of an address or
-- a name (three characters at least), so "alice" or "Bauer" finds them too.
select s.user_email as email, s.user_name as name, s.join_time as joined, m.title, s.provider, s.client_type,
  s.network_type, coalesce(s.server_region, s.location) as region_or_location, s.verdict, s.verdict_reason,
  s.shared_cause, '/-/dashboards/session?session=' || s.id as session_page,
  '/-/dashboards/meeting?meeting=' || q(m.id) as meeting_page, m.id as meeting_id
from media_sessions s join meetings m on m.id = s.meeting_id
where s.user_email = lower(trim(:email))
   or (length(trim(:email)) >= 3 and (instr(lower(s.user_email), lower(trim(:email))) > 0
                                      or instr(lower(s.user_name), lower(trim(:email))) > 0))
order by s.join_time desc limit 500
