select count(*) as n from meetings where quality_state = 'expired'
