with {{ chosen_session }}
select s.verdict, h(s.verdict_metric) as root_cause, h(s.verdict_reason) as reasons,
  coalesce(h(s.shared_cause), 'none found') as shared_cause,
  case when s.shared_cause_session is not null and s.shared_cause_session != s.id
       then a('/-/dashboards/session?session=' || s.shared_cause_session, 'the sender''s session') end as see
from media_sessions s join chosen_session c on c.id = s.id
