with {{ chosen_session }}
select a('/meetq/user_history?email=' || q(s.user_email), coalesce(s.user_name, s.user_email, 'participant'))
    as participant,
  h(s.user_email) as email,
  a('/-/dashboards/meeting?meeting=' || q(s.meeting_id), coalesce(m.title, '(untitled)')) as meeting,
  local(s.join_time) || ' – ' || coalesce(substr(local(s.leave_time), 12), '?') || ' (' || tz_name() || ')' as "when",
  h(coalesce(s.client_type, '') || coalesce(' ' || s.client_version, '')) as client,
  h(coalesce(s.os_type, '') || coalesce(' ' || s.os_version, '')) as os, h(s.hardware_type) as hardware,
  h(s.network_type) as network,
  -- One column, so the card stays readable: the building (a link) and how it was found.
  (select coalesce(case when l.building is not null then a('/-/dashboards/places?building=' || q(l.building), l.building) end || ' ('
                   || case l.inside_corp when 1 then 'inside' else 'outside' end || '), ', '')
          || h(nullif(l.subnet, '') || ' ' || l.status || ' by the ' || l.address_from || ' address')
     from session_locations l where l.session_id = s.id) as building_and_subnet,
  h(coalesce(s.server_region, s.location)) as region_or_location,
  h(coalesce(s.masked_local_ip, s.local_ip)) as local_ip, h(coalesce(s.masked_public_ip, s.public_ip)) as public_ip,
  s.provider as vendor, h(s.account) as account
from media_sessions s join chosen_session c on c.id = s.id left join meetings m on m.id = s.meeting_id
