with {{ chosen_meeting }}
select h(s.user_name) as participant, h(s.network_type) as network, h(s.client_type) as client,
  h(s.server_region) as region, s.verdict, h(s.verdict_reason) as reason
from media_sessions s join chosen on chosen.id = s.meeting_id
order by case s.verdict when 'poor' then 0 when 'fair' then 1 else 2 end, s.user_name
