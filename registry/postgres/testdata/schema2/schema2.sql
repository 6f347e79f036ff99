--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: fixture2; Type: SCHEMA; Schema: -; Owner: -
--



SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: api_keys; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.api_keys (
    id text NOT NULL COLLATE pg_catalog."C",
    role text NOT NULL COLLATE pg_catalog."C",
    hash bytea NOT NULL,
    created_at bigint NOT NULL,
    revoked_at bigint,
    log_index bigint NOT NULL,
    revoked_log_index bigint,
    CONSTRAINT api_keys_role_check CHECK ((role = ANY (ARRAY['ingest'::text, 'auditor'::text, 'admin'::text])))
);


--
-- Name: decisions; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.decisions (
    id text NOT NULL COLLATE pg_catalog."C",
    policy_name text NOT NULL COLLATE pg_catalog."C",
    policy_version integer NOT NULL,
    policy_sha256 text NOT NULL COLLATE pg_catalog."C",
    allowed boolean NOT NULL,
    violations text NOT NULL COLLATE pg_catalog."C",
    error text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    input text NOT NULL COLLATE pg_catalog."C",
    mix_id text COLLATE pg_catalog."C",
    evaluated_at bigint NOT NULL,
    log_index bigint NOT NULL
);


--
-- Name: edges; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.edges (
    child_id text NOT NULL COLLATE pg_catalog."C",
    parent_id text NOT NULL COLLATE pg_catalog."C",
    kind text NOT NULL COLLATE pg_catalog."C",
    CONSTRAINT edges_kind_check CHECK ((kind = ANY (ARRAY['parent'::text, 'prompt'::text])))
);


--
-- Name: idempotency; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.idempotency (
    scope text NOT NULL COLLATE pg_catalog."C",
    key text NOT NULL COLLATE pg_catalog."C",
    request_sha256 text NOT NULL COLLATE pg_catalog."C",
    result text NOT NULL COLLATE pg_catalog."C",
    created_at bigint NOT NULL
);


--
-- Name: log_checkpoints; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.log_checkpoints (
    size bigint NOT NULL,
    root bytea NOT NULL,
    note bytea NOT NULL,
    created_at bigint NOT NULL
);


--
-- Name: log_hashes; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.log_hashes (
    idx bigint NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT log_hashes_idx_check CHECK ((idx >= 0))
);


--
-- Name: log_head; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.log_head (
    id integer NOT NULL,
    size bigint NOT NULL,
    CONSTRAINT log_head_id_check CHECK ((id = 1)),
    CONSTRAINT log_head_size_check CHECK ((size >= 0))
);


--
-- Name: log_leaves; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.log_leaves (
    idx bigint NOT NULL,
    kind text NOT NULL COLLATE pg_catalog."C",
    record_id text NOT NULL COLLATE pg_catalog."C",
    leaf bytea NOT NULL,
    CONSTRAINT log_leaves_idx_check CHECK ((idx >= 0))
);


--
-- Name: mix_manifest; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.mix_manifest (
    mix_id text NOT NULL COLLATE pg_catalog."C",
    chunk integer NOT NULL,
    sample_ids bytea NOT NULL
);


--
-- Name: mixes; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.mixes (
    id text NOT NULL COLLATE pg_catalog."C",
    policy_name text NOT NULL COLLATE pg_catalog."C",
    policy_version integer NOT NULL,
    policy_sha256 text NOT NULL COLLATE pg_catalog."C",
    decision_id text NOT NULL COLLATE pg_catalog."C",
    size integer NOT NULL,
    seed bigint NOT NULL,
    strategy text NOT NULL COLLATE pg_catalog."C",
    request text NOT NULL COLLATE pg_catalog."C",
    stats text NOT NULL COLLATE pg_catalog."C",
    manifest_sha256 text NOT NULL COLLATE pg_catalog."C",
    max_generation integer NOT NULL,
    generation_basis text NOT NULL COLLATE pg_catalog."C",
    created_at bigint NOT NULL,
    log_index bigint NOT NULL
);


--
-- Name: model_training; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.model_training (
    model_id text NOT NULL COLLATE pg_catalog."C",
    mix_id text NOT NULL COLLATE pg_catalog."C",
    ord integer NOT NULL
);


--
-- Name: models; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.models (
    id text NOT NULL COLLATE pg_catalog."C",
    name text NOT NULL COLLATE pg_catalog."C",
    version text NOT NULL COLLATE pg_catalog."C",
    provider text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    declared_generation integer,
    generation integer NOT NULL,
    generation_basis text NOT NULL COLLATE pg_catalog."C",
    created_at bigint NOT NULL,
    log_index bigint NOT NULL
);


--
-- Name: policy_versions; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.policy_versions (
    name text NOT NULL COLLATE pg_catalog."C",
    version integer NOT NULL,
    sha256 text NOT NULL COLLATE pg_catalog."C",
    module text NOT NULL COLLATE pg_catalog."C",
    limits text NOT NULL COLLATE pg_catalog."C",
    created_at bigint NOT NULL,
    log_index bigint NOT NULL
);


--
-- Name: samples; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.samples (
    id text NOT NULL COLLATE pg_catalog."C",
    text text NOT NULL COLLATE pg_catalog."C",
    content_sha256 text NOT NULL COLLATE pg_catalog."C",
    identity_sha256 text NOT NULL COLLATE pg_catalog."C",
    origin text NOT NULL COLLATE pg_catalog."C",
    model_id text COLLATE pg_catalog."C",
    model text COLLATE pg_catalog."C",
    prompt_id text COLLATE pg_catalog."C",
    dataset text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    source_kind text NOT NULL COLLATE pg_catalog."C",
    source_name text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    source_uri text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    license text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    metadata text COLLATE pg_catalog."C",
    generation integer NOT NULL,
    generation_basis text NOT NULL COLLATE pg_catalog."C",
    tokens integer NOT NULL,
    mtld double precision NOT NULL,
    toxicity double precision,
    metrics_version text NOT NULL COLLATE pg_catalog."C",
    toxicity_scorer text NOT NULL COLLATE pg_catalog."C",
    created_at bigint NOT NULL,
    log_index bigint NOT NULL,
    CONSTRAINT samples_check CHECK (((origin = 'model'::text) = (model_id IS NOT NULL))),
    CONSTRAINT samples_origin_check CHECK ((origin = ANY (ARRAY['human'::text, 'model'::text])))
);


--
-- Name: schema_migrations; Type: TABLE; Schema: fixture2; Owner: -
--

CREATE TABLE {{schema}}.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at bigint NOT NULL
);


--
-- Data for Name: api_keys; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.api_keys VALUES ('01a22e8f-76f5-7a6c-84e3-fed1523a8ee8', 'ingest', '\xc73ce6c08ff64542fbb8d1c177173183858e758e9464d0bd0856ca7e5c16caae', 1796077483765, 1796077483765, 5, 6);


--
-- Data for Name: decisions; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.decisions VALUES ('01a22e8f-76fc-7740-b197-4e43af5b8a41', 'open', 1, '5ae8db06b0e688dcfa89557dd080781e0928d74d14c2b3839ff01d363a6c1224', true, '[]', '', '{"size":4,"strategy":{"name":"random"},"stats":{"human":3,"synthetic":1,"synthetic_ratio":0.25,"generations":{"0":2,"2":2},"models":{"teacher@1":1},"max_model_share":0.25,"metrics":{"mtld":{"count":4,"min":15,"max":15,"mean":15},"tokens":{"count":4,"min":15,"max":15,"mean":15},"toxicity":{"count":4,"min":0,"max":0,"mean":0}},"datasets":{"prompts":1},"source_kinds":{"other":2,"public_dataset":1,"synthetic":1},"licenses":{"BSD-3-Clause":1},"generation_bases":{"declared":2,"human":2},"unscored_toxicity":0,"max_generation":2,"pool":4,"tokens":60,"latest_sample":"2026-11-30T22:24:43.763Z","sources":{"other":{"":{"samples":2,"tokens":30}},"public_dataset":{"fortunes":{"samples":1,"tokens":15,"uri":"https://example.org/f"}},"synthetic":{"":{"samples":1,"tokens":15}}}},"request":{"policy":"open","size":10,"strategy":{"name":"random"},"filter":{},"seed":3}}', '01a22e8f-76fc-7742-bb1a-a4b5b0b219fd', 1796077483772, 8);


--
-- Data for Name: edges; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.edges VALUES ('01a22e8f-76ec-75c1-aeb7-6d7d31c3773e', '01a22e8f-76e9-7006-a769-1ba47ace8f11', 'prompt');
INSERT INTO {{schema}}.edges VALUES ('01a22e8f-76f0-7eac-978f-a0792b8309bb', '01a22e8f-76ec-75c1-aeb7-6d7d31c3773e', 'parent');


--
-- Data for Name: idempotency; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.idempotency VALUES ('s', 'k', 'r', '{"ids":["01a22e8f-76f3-78f6-9750-2132b3492133"],"duplicate":[false]}', 1796077483764);


--
-- Data for Name: log_checkpoints; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.log_checkpoints VALUES (11, '\xa6ab5d0592fe08d4654ff2526cec1086ea5dedcd7563740ddc48d97e0863021d', '\x70656469677265652d72656769737472790a31310a70717464425a4c2b434e526c542f4a53624f775168757064376331315933514e33456a5a6667686a4168303d0a0ae280942070656469677265652d7265676973747279206e5a426334366a75484e5855446e445370617954434e78547a796773686673312f654562495177685976695a7664476e65705435424a64436e4b354350313741703439767330372f614c384f33416f52514d5745696736475651733d0a', 1796077483781);


--
-- Data for Name: log_hashes; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.log_hashes VALUES (0, '\x1d2fba0885eb387c8dba59763cedd66e21d3172d4eb09fcdf8b3f7f70e81e966');
INSERT INTO {{schema}}.log_hashes VALUES (1, '\x5d4deadea9a23ecd8781fc0b8acd5180a7a6ac83630b25115d6f570c5a2d4ee6');
INSERT INTO {{schema}}.log_hashes VALUES (2, '\x229be8cfcf3000acbf2ac89339f202b320c79d8a06045d2e36917ff76bc1fdb0');
INSERT INTO {{schema}}.log_hashes VALUES (3, '\x236db7247d17072898e237b469e0121c09147d1c225263c34f3b825dadb0acca');
INSERT INTO {{schema}}.log_hashes VALUES (4, '\xaa76209b304c402c927f129de561c8486c6981dd52452a796a738334b57f441f');
INSERT INTO {{schema}}.log_hashes VALUES (5, '\xadd7f10c46fcf13d44102dfc72d773ed1089b22e83f48716d5fbe17443902423');
INSERT INTO {{schema}}.log_hashes VALUES (6, '\xa4ba1ce2ec009da4cbff47840b4730ca5cc07e4d85ab32481e1247f7908e84d3');
INSERT INTO {{schema}}.log_hashes VALUES (7, '\xaee605cb6a305d2e133c09e44c2651f2034a204b0a7a8e96face479a823e30e0');
INSERT INTO {{schema}}.log_hashes VALUES (8, '\xfe14dc84b5c5225ada41f20bf33d6e5147d46b916bde2940489050ae54cdb687');
INSERT INTO {{schema}}.log_hashes VALUES (9, '\x6e1438babf24d46695bf7c7ce478a4f57ed352b8a59a287ec6021ff03a7b0811');
INSERT INTO {{schema}}.log_hashes VALUES (10, '\x41a5ba62092888a2aa5c9d559655c26fc42230a43854b4b4cb0067d6d59d3b4f');
INSERT INTO {{schema}}.log_hashes VALUES (11, '\x5a6a60e6c61e053d761afbb73cc740d00ee03979db239ed9db749d00d4ba49bf');
INSERT INTO {{schema}}.log_hashes VALUES (12, '\xb9744b525236f1855bc5432f7d995f07b468b526a3df4b1e82af1a3186cf96eb');
INSERT INTO {{schema}}.log_hashes VALUES (13, '\x53a45c8ffc827c174cf5ffe65d496f1fabf644dc7f25442a29900ebfc15fa7b7');
INSERT INTO {{schema}}.log_hashes VALUES (14, '\xe3ec1f7796103aa8b46ac9bbf61574b26fd52e82de949399807e9f0bf1cb9e12');
INSERT INTO {{schema}}.log_hashes VALUES (15, '\xd0914296a6841ce6bb11caede3958fec39fbb8bb9a78aa0683b7023a909bfc7e');
INSERT INTO {{schema}}.log_hashes VALUES (16, '\x506ce81348ccc6bf689d141bb275fd3629139bee8f0d0ee6fbb2a52ec9fa2dea');
INSERT INTO {{schema}}.log_hashes VALUES (17, '\x4c7aafd4e6ad621821fdf74434589b9d416e54c05da39f6714879f5bd96768e3');
INSERT INTO {{schema}}.log_hashes VALUES (18, '\x29d59e0fb1ce8827cb4c84be82a3d1046a5ed4d7dbf65f157ad30ec4a87bfd35');


--
-- Data for Name: log_head; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.log_head VALUES (1, 11);


--
-- Data for Name: log_leaves; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.log_leaves VALUES (0, 'model', '01a22e8f-76e5-7507-97ac-d5771d63fc31', '\x7b226465636c617265645f67656e65726174696f6e223a2231222c2267656e65726174696f6e223a2231222c2267656e65726174696f6e5f6261736973223a226465636c61726564222c226964223a2230316132326538662d373665352d373530372d393761632d643537373164363366633331222c226b696e64223a226d6f64656c222c226e616d65223a2274656163686572222c2274223a22323032362d31312d33305432323a32343a34332e3734395a222c2276223a2231222c2276657273696f6e223a2231227d');
INSERT INTO {{schema}}.log_leaves VALUES (1, 'sample', '01a22e8f-76e9-7006-a769-1ba47ace8f11', '\x7b2264617461736574223a2270726f6d707473222c2264657461696c73223a2233656334636531663035616166643832613236623938353633316535653532666263653761643339623661373062313137386165353030663664333464643238222c2267656e65726174696f6e223a2230222c2267656e65726174696f6e5f6261736973223a2268756d616e222c2268617368223a2238636163626439343232653365363065636335316432323535373933316464396661666661333963653131613262666536383332376138303730653266663233222c226964223a2230316132326538662d373665392d373030362d613736392d316261343761636538663131222c226964656e74697479223a2235646533373630353466353961643338316230653264626537333963376538363334363331386366306533313233323362313165353864386236616163646666222c226b696e64223a2273616d706c65222c226c6963656e7365223a224253442d332d436c61757365222c226d657472696373223a2261373035343861333164633136323736643333373466646335323433313236636137613763643133343739326334373761306536313265363433396436643131222c226f726967696e223a2268756d616e222c22736f757263655f6b696e64223a227075626c69635f64617461736574222c2274223a22323032362d31312d33305432323a32343a34332e3735335a222c2276223a2231227d');
INSERT INTO {{schema}}.log_leaves VALUES (2, 'sample', '01a22e8f-76ec-75c1-aeb7-6d7d31c3773e', '\x7b2267656e65726174696f6e223a2232222c2267656e65726174696f6e5f6261736973223a226465636c61726564222c2268617368223a2231633039343433383135373462633735313034643865656634323737323534646561656636303433373465323761643631313431316163353931306632303438222c226964223a2230316132326538662d373665632d373563312d616562372d366437643331633337373365222c226964656e74697479223a2265616237613635306635623332336133336436323933376332303138303937333466373565663031613339656533653665613563653065613233346634613032222c226b696e64223a2273616d706c65222c226d657472696373223a2261373035343861333164633136323736643333373466646335323433313236636137613763643133343739326334373761306536313265363433396436643131222c226d6f64656c223a22746561636865724031222c226f726967696e223a226d6f64656c222c22706172656e7473223a2232313966353836643339303139383962363934363162623562343163386137303661356266333066613265366135323236653161653035353366303862343134222c2270726f6d70745f6964223a2230316132326538662d373665392d373030362d613736392d316261343761636538663131222c22736f757263655f6b696e64223a2273796e746865746963222c2274223a22323032362d31312d33305432323a32343a34332e3735375a222c2276223a2231227d');
INSERT INTO {{schema}}.log_leaves VALUES (3, 'sample', '01a22e8f-76f0-7eac-978f-a0792b8309bb', '\x7b2267656e65726174696f6e223a2232222c2267656e65726174696f6e5f6261736973223a226465636c61726564222c2268617368223a2233613430373963646361653135313231623535373235643162343031336461633538316566393039306330316130333663626530366530383262653463366538222c226964223a2230316132326538662d373666302d376561632d393738662d613037393262383330396262222c226964656e74697479223a2231616162383064663963313637613531643838643937386235643635656262396462396636313762303366333630393832633530373133653139393566353738222c226b696e64223a2273616d706c65222c226d657472696373223a2261373035343861333164633136323736643333373466646335323433313236636137613763643133343739326334373761306536313265363433396436643131222c226f726967696e223a2268756d616e222c22706172656e7473223a2234306161663139616264373638333362623564306435656563366533663437343135396461363538313135316531653263613535653161663663363935666662222c22736f757263655f6b696e64223a226f74686572222c2274223a22323032362d31312d33305432323a32343a34332e3736315a222c2276223a2231227d');
INSERT INTO {{schema}}.log_leaves VALUES (4, 'sample', '01a22e8f-76f3-78f6-9750-2132b3492133', '\x7b2267656e65726174696f6e223a2230222c2267656e65726174696f6e5f6261736973223a2268756d616e222c2268617368223a2232623639633033656362353365613938313766373965373132303632356130313237303339306531663131366366356232386563333265346265366563636534222c226964223a2230316132326538662d373666332d373866362d393735302d323133326233343932313333222c226964656e74697479223a2230343266636333306530663963633365343466333865343638643263666335313766643662636266326339386235623836323236323433363563613633396566222c226b696e64223a2273616d706c65222c226d657472696373223a2261373035343861333164633136323736643333373466646335323433313236636137613763643133343739326334373761306536313265363433396436643131222c226f726967696e223a2268756d616e222c22736f757263655f6b696e64223a226f74686572222c2274223a22323032362d31312d33305432323a32343a34332e3736335a222c2276223a2231227d');
INSERT INTO {{schema}}.log_leaves VALUES (5, 'key_created', '01a22e8f-76f5-7a6c-84e3-fed1523a8ee8', '\x7b226964223a2230316132326538662d373666352d376136632d383465332d666564313532336138656538222c226b696e64223a226b65795f63726561746564222c22726f6c65223a22696e67657374222c2274223a22323032362d31312d33305432323a32343a34332e3736355a222c2276223a2231227d');
INSERT INTO {{schema}}.log_leaves VALUES (6, 'key_revoked', '01a22e8f-76f5-7a6c-84e3-fed1523a8ee8', '\x7b226964223a2230316132326538662d373666352d376136632d383465332d666564313532336138656538222c226b696e64223a226b65795f7265766f6b6564222c22726f6c65223a22696e67657374222c2274223a22323032362d31312d33305432323a32343a34332e3736355a222c2276223a2231227d');
INSERT INTO {{schema}}.log_leaves VALUES (7, 'policy_version', 'open@1', '\x7b226964223a226f70656e4031222c226b696e64223a22706f6c6963795f76657273696f6e222c226c696d697473223a2234343133366661333535623336373861313134366164313666376538363439653934666234666332316665373765383331306330363066363163616166663861222c226e616d65223a226f70656e222c22736861323536223a2235616538646230366230653638386463666138393535376464303830373831653039323864373464313463326233383339666630316433363361366331323234222c2274223a22323032362d31312d33305432323a32343a34332e3736395a222c2276223a2231222c2276657273696f6e223a2231227d');
INSERT INTO {{schema}}.log_leaves VALUES (8, 'decision', '01a22e8f-76fc-7740-b197-4e43af5b8a41', '\x7b22616c6c6f776564223a2274727565222c226964223a2230316132326538662d373666632d373734302d623139372d346534336166356238613431222c22696e707574223a2237333962626330396337326237653532326234363937653834626663616631356639396231623335353135666465643264376161306435646532356465666261222c226b696e64223a226465636973696f6e222c226d69785f6964223a2230316132326538662d373666632d373734322d626231612d613462356230623231396664222c22706f6c696379223a226f70656e4031222c22736861323536223a2235616538646230366230653638386463666138393535376464303830373831653039323864373464313463326233383339666630316433363361366331323234222c2274223a22323032362d31312d33305432323a32343a34332e3737325a222c2276223a2231222c2276696f6c6174696f6e73223a2265336230633434323938666331633134396166626634633839393666623932343237616534316534363439623933346361343935393931623738353262383535227d');
INSERT INTO {{schema}}.log_leaves VALUES (9, 'mix', '01a22e8f-76fc-7742-bb1a-a4b5b0b219fd', '\x7b226465636973696f6e5f6964223a2230316132326538662d373666632d373734302d623139372d346534336166356238613431222c226964223a2230316132326538662d373666632d373734322d626231612d613462356230623231396664222c226b696e64223a226d6978222c226d616e69666573745f736861323536223a2263663930643437373130343733396630323932613761646463643330613830343234326562643865383237373736326638373166346336376139633065363133222c22706f6c696379223a226f70656e4031222c2272657175657374223a2266633030313263396131373463643334656365653339353437613965303532363365323632333736663630386236623830316265653766323239633631633864222c2273656564223a2233222c22736861323536223a2235616538646230366230653638386463666138393535376464303830373831653039323864373464313463326233383339666630316433363361366331323234222c2273697a65223a2234222c2274223a22323032362d31312d33305432323a32343a34332e3737325a222c2276223a2231227d');
INSERT INTO {{schema}}.log_leaves VALUES (10, 'model', '01a22e8f-76ff-7988-9aed-47adc81b82a5', '\x7b2267656e65726174696f6e223a2232222c2267656e65726174696f6e5f6261736973223a226465636c61726564222c226964223a2230316132326538662d373666662d373938382d396165642d343761646338316238326135222c226b696e64223a226d6f64656c222c226e616d65223a2273747564656e74222c2274223a22323032362d31312d33305432323a32343a34332e3737355a222c22747261696e65645f6f6e223a2230316132326538662d373666632d373734322d626231612d613462356230623231396664222c2276223a2231222c2276657273696f6e223a2231227d');


--
-- Data for Name: mix_manifest; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.mix_manifest VALUES ('01a22e8f-76fc-7742-bb1a-a4b5b0b219fd', 0, '\x01a22e8f76e97006a7691ba47ace8f1101a22e8f76f07eac978fa0792b8309bb01a22e8f76f378f697502132b349213301a22e8f76ec75c1aeb76d7d31c3773e');


--
-- Data for Name: mixes; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.mixes VALUES ('01a22e8f-76fc-7742-bb1a-a4b5b0b219fd', 'open', 1, '5ae8db06b0e688dcfa89557dd080781e0928d74d14c2b3839ff01d363a6c1224', '01a22e8f-76fc-7740-b197-4e43af5b8a41', 4, 3, '{"name":"random"}', '{"policy":"open","size":10,"strategy":{"name":"random"},"filter":{},"seed":3}', '{"human":3,"synthetic":1,"synthetic_ratio":0.25,"generations":{"0":2,"2":2},"models":{"teacher@1":1},"max_model_share":0.25,"metrics":{"mtld":{"count":4,"min":15,"max":15,"mean":15},"tokens":{"count":4,"min":15,"max":15,"mean":15},"toxicity":{"count":4,"min":0,"max":0,"mean":0}},"datasets":{"prompts":1},"source_kinds":{"other":2,"public_dataset":1,"synthetic":1},"licenses":{"BSD-3-Clause":1},"generation_bases":{"declared":2,"human":2},"unscored_toxicity":0,"max_generation":2,"pool":4,"tokens":60,"latest_sample":"2026-11-30T22:24:43.763Z","sources":{"other":{"":{"samples":2,"tokens":30}},"public_dataset":{"fortunes":{"samples":1,"tokens":15,"uri":"https://example.org/f"}},"synthetic":{"":{"samples":1,"tokens":15}}}}', 'cf90d477104739f0292a7addcd30a804242ebd8e8277762f871f4c67a9c0e613', 2, 'declared', 1796077483772, 9);


--
-- Data for Name: model_training; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.model_training VALUES ('01a22e8f-76ff-7988-9aed-47adc81b82a5', '01a22e8f-76fc-7742-bb1a-a4b5b0b219fd', 0);


--
-- Data for Name: models; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.models VALUES ('01a22e8f-76e5-7507-97ac-d5771d63fc31', 'teacher', '1', '', 1, 1, 'declared', 1796077483749, 0);
INSERT INTO {{schema}}.models VALUES ('01a22e8f-76ff-7988-9aed-47adc81b82a5', 'student', '1', '', NULL, 2, 'declared', 1796077483775, 10);


--
-- Data for Name: policy_versions; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.policy_versions VALUES ('open', 1, '5ae8db06b0e688dcfa89557dd080781e0928d74d14c2b3839ff01d363a6c1224', 'package pedigree.mix

limits := {}
', '{}', 1796077483769, 7);


--
-- Data for Name: samples; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.samples VALUES ('01a22e8f-76e9-7006-a769-1ba47ace8f11', 'This is sample prompt, written to test the registry with a handful of distinct words.', '8cacbd9422e3e60ecc51d22557931dd9faffa39ce11a2bfe68327a8070e2ff23', '5de376054f59ad381b0e2dbe739c7e86346318cf0e312323b11e58d8b6aacdff', 'human', NULL, NULL, NULL, 'prompts', 'public_dataset', 'fortunes', 'https://example.org/f', 'BSD-3-Clause', '{"lang":"en"}', 0, 'human', 15, 15, 0, 'pedigree-metrics/1+tok/1', 'lexicon/1+tok/1+4f66b4a1', 1796077483753, 1);
INSERT INTO {{schema}}.samples VALUES ('01a22e8f-76ec-75c1-aeb7-6d7d31c3773e', 'This is sample answer, written to test the registry with a handful of distinct words.', '1c0944381574bc75104d8eef4277254deaef604374e27ad611411ac5910f2048', 'eab7a650f5b323a33d62937c201809734f75ef01a39ee3e6ea5ce0ea234f4a02', 'model', '01a22e8f-76e5-7507-97ac-d5771d63fc31', 'teacher@1', '01a22e8f-76e9-7006-a769-1ba47ace8f11', '', 'synthetic', '', '', '', NULL, 2, 'declared', 15, 15, 0, 'pedigree-metrics/1+tok/1', 'lexicon/1+tok/1+4f66b4a1', 1796077483757, 2);
INSERT INTO {{schema}}.samples VALUES ('01a22e8f-76f0-7eac-978f-a0792b8309bb', 'This is sample edited, written to test the registry with a handful of distinct words.', '3a4079cdcae15121b55725d1b4013dac581ef9090c01a036cbe06e082be4c6e8', '1aab80df9c167a51d88d978b5d65ebb9db9f617b03f360982c50713e1995f578', 'human', NULL, NULL, NULL, '', 'other', '', '', '', NULL, 2, 'declared', 15, 15, 0, 'pedigree-metrics/1+tok/1', 'lexicon/1+tok/1+4f66b4a1', 1796077483761, 3);
INSERT INTO {{schema}}.samples VALUES ('01a22e8f-76f3-78f6-9750-2132b3492133', 'This is sample idem, written to test the registry with a handful of distinct words.', '2b69c03ecb53ea9817f79e7120625a01270390e1f116cf5b28ec32e4be6ecce4', '042fcc30e0f9cc3e44f38e468d2cfc517fd6bcbf2c98b5b8622624365ca639ef', 'human', NULL, NULL, NULL, '', 'other', '', '', '', NULL, 0, 'human', 15, 15, 0, 'pedigree-metrics/1+tok/1', 'lexicon/1+tok/1+4f66b4a1', 1796077483763, 4);


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: fixture2; Owner: -
--

INSERT INTO {{schema}}.schema_migrations VALUES (1, '0001_core.sql', 1796077483735);
INSERT INTO {{schema}}.schema_migrations VALUES (2, '0002_mixes.sql', 1796077483748);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);


--
-- Name: decisions decisions_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.decisions
    ADD CONSTRAINT decisions_pkey PRIMARY KEY (id);


--
-- Name: edges edges_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.edges
    ADD CONSTRAINT edges_pkey PRIMARY KEY (child_id, parent_id);


--
-- Name: idempotency idempotency_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.idempotency
    ADD CONSTRAINT idempotency_pkey PRIMARY KEY (scope, key);


--
-- Name: log_checkpoints log_checkpoints_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.log_checkpoints
    ADD CONSTRAINT log_checkpoints_pkey PRIMARY KEY (size);


--
-- Name: log_hashes log_hashes_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.log_hashes
    ADD CONSTRAINT log_hashes_pkey PRIMARY KEY (idx);


--
-- Name: log_head log_head_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.log_head
    ADD CONSTRAINT log_head_pkey PRIMARY KEY (id);


--
-- Name: log_leaves log_leaves_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.log_leaves
    ADD CONSTRAINT log_leaves_pkey PRIMARY KEY (idx);


--
-- Name: mix_manifest mix_manifest_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.mix_manifest
    ADD CONSTRAINT mix_manifest_pkey PRIMARY KEY (mix_id, chunk);


--
-- Name: mixes mixes_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.mixes
    ADD CONSTRAINT mixes_pkey PRIMARY KEY (id);


--
-- Name: model_training model_training_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.model_training
    ADD CONSTRAINT model_training_pkey PRIMARY KEY (model_id, mix_id);


--
-- Name: models models_name_version_key; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.models
    ADD CONSTRAINT models_name_version_key UNIQUE (name, version);


--
-- Name: models models_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.models
    ADD CONSTRAINT models_pkey PRIMARY KEY (id);


--
-- Name: policy_versions policy_versions_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.policy_versions
    ADD CONSTRAINT policy_versions_pkey PRIMARY KEY (name, version);


--
-- Name: samples samples_identity_sha256_key; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.samples
    ADD CONSTRAINT samples_identity_sha256_key UNIQUE (identity_sha256);


--
-- Name: samples samples_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.samples
    ADD CONSTRAINT samples_pkey PRIMARY KEY (id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: edges_parent; Type: INDEX; Schema: fixture2; Owner: -
--

CREATE INDEX edges_parent ON {{schema}}.edges USING btree (parent_id, child_id);


--
-- Name: samples_content; Type: INDEX; Schema: fixture2; Owner: -
--

CREATE INDEX samples_content ON {{schema}}.samples USING btree (content_sha256);


--
-- Name: samples_model; Type: INDEX; Schema: fixture2; Owner: -
--

CREATE INDEX samples_model ON {{schema}}.samples USING btree (model_id) WHERE (model_id IS NOT NULL);


--
-- Name: samples_prompt; Type: INDEX; Schema: fixture2; Owner: -
--

CREATE INDEX samples_prompt ON {{schema}}.samples USING btree (prompt_id) WHERE (prompt_id IS NOT NULL);


--
-- Name: edges edges_child_id_fkey; Type: FK CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.edges
    ADD CONSTRAINT edges_child_id_fkey FOREIGN KEY (child_id) REFERENCES {{schema}}.samples(id);


--
-- Name: edges edges_parent_id_fkey; Type: FK CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.edges
    ADD CONSTRAINT edges_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES {{schema}}.samples(id);


--
-- Name: mix_manifest mix_manifest_mix_id_fkey; Type: FK CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.mix_manifest
    ADD CONSTRAINT mix_manifest_mix_id_fkey FOREIGN KEY (mix_id) REFERENCES {{schema}}.mixes(id);


--
-- Name: mixes mixes_decision_id_fkey; Type: FK CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.mixes
    ADD CONSTRAINT mixes_decision_id_fkey FOREIGN KEY (decision_id) REFERENCES {{schema}}.decisions(id);


--
-- Name: model_training model_training_mix_id_fkey; Type: FK CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.model_training
    ADD CONSTRAINT model_training_mix_id_fkey FOREIGN KEY (mix_id) REFERENCES {{schema}}.mixes(id);


--
-- Name: model_training model_training_model_id_fkey; Type: FK CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.model_training
    ADD CONSTRAINT model_training_model_id_fkey FOREIGN KEY (model_id) REFERENCES {{schema}}.models(id);


--
-- Name: samples samples_model_id_fkey; Type: FK CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.samples
    ADD CONSTRAINT samples_model_id_fkey FOREIGN KEY (model_id) REFERENCES {{schema}}.models(id);


--
-- Name: samples samples_prompt_id_fkey; Type: FK CONSTRAINT; Schema: fixture2; Owner: -
--

ALTER TABLE ONLY {{schema}}.samples
    ADD CONSTRAINT samples_prompt_id_fkey FOREIGN KEY (prompt_id) REFERENCES {{schema}}.samples(id);


--
-- PostgreSQL database dump complete
--


