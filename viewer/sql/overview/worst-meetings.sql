with {{ period }},
ranked as (
  select s.meeting_id, sum(s.verdict = 'poor') as poor, sum(s.{{ rated }}) as rated,
    count(*) as sessions, group_concat(distinct s.verdict_metric) as causes,
    max(s.shared_cause is not null) as shared
  from media_sessions s where 1 {{ session_filters }}
  group by s.meeting_id having poor > 0 order by poor desc, 1.0 * poor / rated desc limit 15)
select a('/-/dashboards/meeting?meeting=' || q(m.id), coalesce(m.title, '(untitled)')) as meeting,
  local(m.start) as start, m.provider as vendor, r.poor || ' of ' || r.rated as poor_of_rated, h(r.causes) as causes,
  case when r.shared then 'yes' else '' end as shared_cause
from ranked r join meetings m on m.id = r.meeting_id
union all select 'no meeting had a poor session in this period', null, null, null, null, null
where not exists (select 1 from ranked)
