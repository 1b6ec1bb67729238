with {{ chosen_meeting }}
select h(m.title) as title, m.start, m."end", h(m.host_email) as host, h(m.site_url) as site,
  (select count(*) from media_sessions s where s.meeting_id = m.id) as sessions,
  m.quality_state, h(m.id) as id
from meetings m join chosen on chosen.id = m.id
