chosen_session as (select coalesce(
    (select id from media_sessions where id = :session),
    (select id from media_sessions where verdict = 'poor' order by join_time desc limit 1),
    (select id from media_sessions order by join_time desc limit 1)) as id)
