-- Within the chosen building (or every mapped range), poor % by subnet: which floor or Wi-Fi.
with {{ period }},
counted as (
  select l.building, l.subnet, l.network_name, sum(s.{{ rated }}) as rated,
    sum(s.verdict = 'poor') as poor, count(distinct s.user_email) as people
  from media_sessions s join session_locations l on l.session_id = s.id
  -- +status: read the period's sessions by time, then each one's place; the status index would
  -- read every place of the year first (13x slower for a week of a 25,000-person year)
  where +l.status = 'mapped' {{ session_filters }} group by l.building, l.subnet, l.network_name)
select * from (
select h(building) as building, h(subnet) as subnet, h(network_name) as network_name,
  case when rated > 0 then round(100.0 * poor / rated, 1) || ' %' else '—' end as poor,
  poor || ' of ' || rated as poor_of_rated, people
from counted order by building, rated desc)
union all select 'no mapped subnet has sessions in this period', null, null, null, null, null
where not exists (select 1 from counted)
