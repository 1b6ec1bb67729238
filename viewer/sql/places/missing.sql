-- CQD's missing-subnet report: the busiest /24s (IPv6 /48s) no range holds, so the next lines of
-- the building file are the ones that matter. Home networks are here too: leave them unmapped.
with {{ period }},
counted as (
  select l.subnet, l.status, count(*) as sessions, sum(s.verdict = 'poor') as poor,
    count(distinct s.user_email) as people
  from media_sessions s join session_locations l on l.session_id = s.id
  -- +status: read the period's sessions by time, then each one's place; the status index would
  -- read every place of the year first (13x slower for a week of a 25,000-person year)
  where +l.status in ('unmapped', 'outside', 'masked') {{ session_filters }}
  group by l.subnet, l.status order by sessions desc limit {{ limit }})
select h(subnet) as subnet,
  case status when 'unmapped' then 'private, not in the file' when 'outside' then 'public, not in the file'
    else 'kept as a /24, the file maps narrower ranges' end as why, sessions, poor, people
from counted
union all select 'every session''s subnet is mapped', null, null, null, null
where not exists (select 1 from counted)
{{ missing_more }}
