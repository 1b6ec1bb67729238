select count(distinct s.user_email) as n from media_sessions s
where s.verdict = 'poor' {{ session_filters }}
