s.user_name || ' (' || substr(s.participant_session_id, 1, 4) || ')'
