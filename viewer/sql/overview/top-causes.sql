-- What made sessions poor, by the root cause's metric (verdict_metric) and the media it was found on.
with {{ period }},
causes as (
  select coalesce(s.verdict_metric, 'other') as metric, count(*) as poor_sessions,
    sum(s.shared_cause is not null) as shared
  from media_sessions s where s.verdict = 'poor' {{ session_filters }}
  group by metric order by poor_sessions desc)
select metric, poor_sessions, shared as with_a_shared_cause from causes
union all select 'no poor session in this period', 0, 0 where not exists (select 1 from causes)
