-- One database per service (DESIGN: a service reads and writes only its own tables).
CREATE DATABASE cxloop_survey;
CREATE DATABASE cxloop_metrics;
CREATE DATABASE cxloop_loop;
