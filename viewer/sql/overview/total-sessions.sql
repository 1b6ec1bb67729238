select count(*) as n from media_sessions s where 1 {{ session_filters }}
