-- Call Quality Dashboard's four summary cells: inside or outside the corporate network (a range
-- marked InsideCorp) by wired or Wi-Fi, with the rest (cellular, unknown) beside them.
with {{ period }},
cells(corp_network, connection, rank) as (
  values ('Inside', 'Wired', 1), ('Inside', 'Wi-Fi', 2), ('Outside', 'Wired', 3), ('Outside', 'Wi-Fi', 4),
         ('Inside', 'Other', 5), ('Outside', 'Other', 6)),
counted as (
  select p.corp_network, case when p.connection in ('Wired', 'Wi-Fi') then p.connection else 'Other' end as connection,
    sum(s.{{ rated }}) as rated, sum(s.verdict = 'poor') as poor, count(*) as sessions
  from session_places p join media_sessions s on s.id = p.session_id where 1 {{ session_filters }}
  group by 1, 2)
select c.corp_network || ' · ' || c.connection as cell, coalesce(k.sessions, 0) as sessions,
  coalesce(k.rated, 0) as rated,
  case when k.rated > 0 then round(100.0 * k.poor / k.rated, 1) || ' %' else '—' end as poor
from cells c left join counted k on k.corp_network = c.corp_network and k.connection = c.connection
order by c.rank
