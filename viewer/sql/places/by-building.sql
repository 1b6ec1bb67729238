-- Poor % by building, this period and the one before, with sample sizes; a building with fewer
-- than :min_sessions rated sessions (default 10) is left out: its share says little.
with {{ period }},
rated_now as (
  select l.building, sum(s.{{ rated }}) as rated, sum(s.verdict = 'poor') as poor,
    count(distinct s.user_email) as people, max(l.inside_corp) as inside
  from media_sessions s join session_locations l on l.session_id = s.id
  where l.building is not null {{ session_filters }} group by l.building),
rated_before as (
  select l.building, sum(s.{{ rated }}) as rated, sum(s.verdict = 'poor') as poor
  from media_sessions s join session_locations l on l.session_id = s.id
  where l.building is not null and s.join_time >= (select start from previous)
    and s.join_time < (select stop from previous) {{ scope_filters }} group by l.building),
shown as (
  select n.building, n.rated, n.poor, n.people, n.inside, round(100.0 * n.poor / n.rated, 1) as poor_pct,
    case when b.rated >= {{ min_rated }} then round(100.0 * b.poor / b.rated, 1) end as before_pct
  from rated_now n left join rated_before b on b.building = n.building where n.rated >= {{ min_rated }})
select * from (
select a('/-/dashboards/places?building=' || q(building) || coalesce('&date_start=' || nullif(:date_start, ''), '')
         || coalesce('&date_end=' || nullif(:date_end, ''), ''), building) as building,
  case inside when 1 then 'inside' else 'outside' end as corp_network,
  poor_pct || ' %' as poor, poor || ' of ' || rated as poor_of_rated, people,
  coalesce(before_pct || ' %', 'too few') as period_before,
  case when before_pct is null then '' when poor_pct > before_pct then '▲ +' || round(poor_pct - before_pct, 1)
       when poor_pct < before_pct then '▼ ' || round(poor_pct - before_pct, 1) else '=' end as change,
  a('/meetq/sessions?verdict=poor&building=' || q(building) || {{ in_period_and_scope }}, 'poor sessions') as sessions
from shown order by poor_pct desc)
union all select 'no building has ' || {{ min_rated }} || ' rated sessions in this period (import a building file: '
  || '`meetq locations import`)', null, null, null, null, null, null, null
where not exists (select 1 from shown)
