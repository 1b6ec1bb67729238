-- Everyone without a problem, folded: one cell holding a <details> list (table cells are HTML here).
with {{ chosen_meeting }}, {{ participants }},
others as (select * from participants where coalesce(verdict, 'unrated') not in ('poor', 'fair') order by join_time)
select case when (select id from chosen) is null then 'No meeting chosen.'
  when count(*) = 0 then 'Everyone had a problem: see above.'
  else '<details><summary>' || count(*) || ' participants without a problem (good or unrated): show</summary><table>'
       || group_concat('<tr><td><span style="color:' || colour || '">●</span> '
                       || a('/-/dashboards/session?session=' || id, participant) || '</td><td>'
                       || coalesce(h(client_type), '') || '</td><td>' || coalesce(h(network_type), '') || '</td><td>'
                       || coalesce(h(place), '') || '</td><td>'
                       || coalesce(h(verdict), '') || '</td><td>' || coalesce(h(verdict_reason), '') || '</td></tr>', '')
       || '</table></details>' end as participants
from others
