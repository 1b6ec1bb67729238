select account, quality_state, count(*) as meetings from meetings group by account, quality_state
