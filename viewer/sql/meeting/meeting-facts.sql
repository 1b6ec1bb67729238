with {{ chosen_meeting }}
select h(coalesce(m.title, '(untitled)')) as title, local(m.start) || ' – ' || coalesce(substr(local(m."end"), 12), '?')
    || ' (' || tz_name() || ')' as "when", m.provider as vendor, h(m.account) as account, h(m.host_email) as host,
  (select count(*) from media_sessions s where s.meeting_id = m.id) as sessions,
  (select sum(verdict = 'poor') || ' poor of ' || sum(verdict in ('good', 'fair', 'poor')) || ' rated'
   from media_sessions s where s.meeting_id = m.id) as verdicts,
  h(m.id) as id
from meetings m join chosen on chosen.id = m.id
