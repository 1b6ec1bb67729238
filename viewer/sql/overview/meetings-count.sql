select count(*) as n from meetings m where m.quality_state != 'not_applicable' {{ meeting_filters }}
