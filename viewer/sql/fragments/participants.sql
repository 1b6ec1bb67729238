-- Every participant of the chosen meeting with its colour: the n-th to join has the n-th colour,
-- whatever a chart shows, so a person is the same colour in every chart.
participants as (
  select s.*, (select coalesce(l.building, l.subnet) from session_locations l where l.session_id = s.id) as place,
         palette(row_number() over (order by s.join_time, s.id) - 1) as colour,
         coalesce(s.user_name, s.user_email, 'participant') || ' · ' || coalesce(substr(local(s.join_time), 12), '?')
           as participant
  from media_sessions s join chosen on chosen.id = s.meeting_id)
