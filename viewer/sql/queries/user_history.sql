-- One person's sessions, newest first: :email is an address (any case; the index finds it), else
-- part of an address or a name (three characters at least, read through every session), so
-- "alice" or "Bauer" finds them too.
with found as (
  select s.* from media_sessions s where s.user_email = lower(trim(:email))
  union all
  select s.* from media_sessions s
  where length(trim(:email)) >= 3
    and not exists (select 1 from media_sessions e where e.user_email = lower(trim(:email)))
    and (instr(lower(s.user_email), lower(trim(:email))) > 0 or instr(lower(s.user_name), lower(trim(:email))) > 0))
select s.user_email as email, s.user_name as name, s.join_time as joined, m.title, s.provider, s.client_type,
  s.network_type, coalesce(s.server_region, s.location) as region_or_location, s.verdict, s.verdict_reason,
  s.shared_cause, '/-/dashboards/session?session=' || s.id as session_page,
  '/-/dashboards/meeting?meeting=' || q(m.id) as meeting_page, m.id as meeting_id
from found s join meetings m on m.id = s.meeting_id
order by s.join_time desc limit 500
