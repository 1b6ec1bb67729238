-- The shared-cause finding, stated once at the top: the sender's own sentence.
with {{ chosen_meeting }}
select coalesce(
  (select h(s.shared_cause) from media_sessions s join chosen on chosen.id = s.meeting_id
   where s.shared_cause_session = s.id limit 1),
  case when (select id from chosen) is null then 'No meeting chosen (see the Meeting card)'
       else 'No shared cause: no participant''s uplink or CPU trouble matches received loss at two or more others.' end)
  as finding
