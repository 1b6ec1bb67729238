-- Who had a problem ({{ which }}), worst first: the verdict's first reason in a line, every reason
-- and the shared cause folded under it (table cells are HTML here), then when, on what, from where.
with {{ chosen_meeting }}, {{ participants }},
reasons as (
  select *, case when instr(verdict_reason, '; ') > 0 then substr(verdict_reason, 1, instr(verdict_reason, '; ') - 1)
                 else verdict_reason end as first_reason
  from participants where {{ which }}),
shown as (
  select '<span style="color:' || colour || '">●</span> ' || a('/-/dashboards/session?session=' || id, participant)
      as participant,
    verdict,
    '<details class="why"><summary>' || coalesce(h(first_reason), 'no reason given')
      || case when verdict_reason <> first_reason or shared_cause is not null then ' …' else '' end || '</summary>'
      || coalesce('<p>' || h(verdict_reason) || '</p>', '') || coalesce('<p><b>Shared cause:</b> ' || h(shared_cause) || '</p>', '')
      || '</details>' as why,
    substr(local(join_time), 12) || '–' || coalesce(substr(local(leave_time), 12), '?') as "joined–left",
    h(trim(coalesce(client_type, '') || coalesce(' ' || client_version, '') || coalesce(' · ' || os_type, ''))) as client,
    h(trim(coalesce(network_type, '') || coalesce(' · ' || place, '') || coalesce(' · ' || coalesce(server_region, location), ''), ' ·'))
      as "network · place · region",
    join_time
  from reasons)
select participant, verdict, why, "joined–left", client, "network · place · region"
from (select * from shown
      union all select case when (select id from chosen) is null then 'no meeting chosen' else 'nobody' end,
                       null, null, null, null, null, null where not exists (select 1 from shown))
order by verdict = 'poor' desc, verdict = 'fair' desc, join_time
