-- Every participant of the chosen meeting with its colour: the n-th to join has the n-th colour,
-- whatever a chart shows, so a person is the same colour in every chart. The label (name · time
-- joined) names the line in each chart's legend: a second session of the same name and minute
-- gets its number, so no two participants share a label.
numbered as (
  select s.*, row_number() over (order by s.join_time, s.id) as n,
         coalesce(s.user_name, s.user_email, 'participant') || ' · ' || coalesce(substr(local(s.join_time), 12), '?')
           as label
  from media_sessions s join chosen on chosen.id = s.meeting_id),
participants as (
  select numbered.*, (select coalesce(l.building, l.subnet) from session_locations l where l.session_id = numbered.id)
           as place,
         palette(n - 1) as colour,
         label || case when count(*) over (partition by label) > 1
                       then ' (' || row_number() over (partition by label order by n) || ')' else '' end as participant
  from numbered)
