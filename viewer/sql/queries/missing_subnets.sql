-- Every subnet of the period (:date_start to :date_end, display time zone; empty: the last 7 days)
-- that no range of the building file holds, busiest first: the whole of Which office?'s list.
with {{ period }},
counted as (
  select l.subnet, l.status, count(*) as sessions, sum(s.verdict = 'poor') as poor,
    count(distinct s.user_email) as people
  from media_sessions s join session_locations l on l.session_id = s.id
  -- +status: read the period's sessions by time, then each one's place; the status index would
  -- read every place of the year first (13x slower for a week of a 25,000-person year)
  where +l.status in ('unmapped', 'outside', 'masked')
    and s.join_time >= (select start from period) and s.join_time < (select stop from period)
  group by l.subnet, l.status)
select subnet,
  case status when 'unmapped' then 'private, not in the file' when 'outside' then 'public, not in the file'
    else 'kept as a /24, the file maps narrower ranges' end as why, sessions, poor, people
from counted order by sessions desc
