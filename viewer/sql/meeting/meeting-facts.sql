-- The chosen meeting; when the Meeting filter names none or several, that is said first, and the
-- meetings whose title matches follow, newest first, each a link to its page.
with {{ chosen_meeting }},
matches as (select id from meetings where (select id from chosen) is null and {{ meeting_named }}),
shown as (select id, 0 as rank from chosen where id is not null
          union all select id, 1 from (select m.id from meetings m join matches using (id) order by m.start desc limit 20)),
said as (
  select 'No meeting''s id, title or Meet code matches “' || h(:meeting) || '”: pick one from the Meeting list' as title
  where (select id from chosen) is null and not exists (select 1 from matches)
  union all
  select (select count(*) from matches) || ' meetings match “' || h(:meeting) || '”'
    || case when (select count(*) from matches) > 20 then ' (the newest 20)' else '' end || ': pick one'
  where exists (select 1 from matches))
select title, null as "when", null as vendor, null as account, null as host, null as sessions, null as verdicts,
  null as id from said
union all
select case when shown.rank = 0 then h(coalesce(m.title, '(untitled)'))
            else a('/-/dashboards/meeting?meeting=' || q(m.id), coalesce(m.title, '(untitled)')) end as title,
  local(m.start) || ' – ' || coalesce(substr(local(m."end"), 12), '?') || ' (' || tz_name() || ')' as "when",
  m.provider as vendor, h(m.account) as account, h(m.host_email) as host,
  (select count(*) from media_sessions s where s.meeting_id = m.id) as sessions,
  (select sum(verdict = 'poor') || ' poor of ' || sum({{ rated }}) || ' rated'
   from media_sessions s where s.meeting_id = m.id) as verdicts,
  h(m.id) as id
from shown join meetings m on m.id = shown.id
