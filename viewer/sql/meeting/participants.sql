-- Who joined, when, from where, on what; a problem first ({{ which }}).
with {{ chosen_meeting }}, {{ participants }},
shown as (
  select '<span style="color:' || colour || '">●</span> ' || a('/-/dashboards/session?session=' || id, participant)
      as participant,
    h(user_email) as email, local(join_time) as joined, substr(local(leave_time), 12) as "left",
    h(coalesce(client_type, '') || coalesce(' ' || client_version, '')) as client, h(os_type) as os,
    h(network_type) as network, h(place) as building_or_subnet, h(coalesce(server_region, location)) as region_or_location,
    verdict,
    h(verdict_reason) as reasons, h(shared_cause) as shared_cause
  from participants where {{ which }}
  order by verdict = 'poor' desc, verdict = 'fair' desc, join_time)
select * from shown
union all select 'nobody', null, null, null, null, null, null, null, null, null, null, null
where not exists (select 1 from shown)
