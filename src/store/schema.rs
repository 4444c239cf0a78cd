//! Diesel schema shared by both backends (see `sql_types` for the columns whose
//! encoding differs). Kept by hand: `diesel print_schema` would emit backend-specific
//! types; the migrations under `migrations/postgres` and `migrations/sqlite` are the truth.

// On PostgreSQL the key is (tenant, res_type, res_id), and history's is (tenant,
// change_seq); on SQLite they are as named below. Never use `find()` on either.
diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    resources (res_type, res_id) {
        res_type -> Text,
        res_id -> Text,
        version_id -> BigInt,
        last_updated -> UtcTimestamp,
        deleted -> Bool,
        change_seq -> BigInt,
        body -> Text,
        tenant -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    resource_history (change_seq) {
        change_seq -> BigInt,
        res_type -> Text,
        res_id -> Text,
        version_id -> BigInt,
        last_updated -> UtcTimestamp,
        method -> Text,
        deleted -> Bool,
        body -> Nullable<Text>,
        tenant -> Text,
    }
}

// The search index tables have no primary key (PostgreSQL) or only SQLite's rowid:
// a resource's rows are replaced by (tenant, res_type, res_id), searches go through
// the lookup indexes. `table!` needs a key named; the one given is neither unique
// nor a constraint, so never use `find()` on these tables.
diesel::table! {
    search_token (tenant, res_type, res_id, param) {
        res_type -> Text,
        res_id -> Text,
        param -> Text,
        system -> Nullable<Text>,
        code -> Nullable<Text>,
        display -> Nullable<Text>,
        hash_code -> BigInt,
        hash_system_code -> BigInt,
        hash_system -> BigInt,
        tenant -> Text,
    }
}

diesel::table! {
    search_string (tenant, res_type, res_id, param) {
        res_type -> Text,
        res_id -> Text,
        param -> Text,
        value_normalized -> Text,
        value_exact -> Text,
        tenant -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    search_date (tenant, res_type, res_id, param) {
        res_type -> Text,
        res_id -> Text,
        param -> Text,
        low -> UtcTimestamp,
        high -> UtcTimestamp,
        tenant -> Text,
    }
}

diesel::table! {
    search_quantity (tenant, res_type, res_id, param) {
        res_type -> Text,
        res_id -> Text,
        param -> Text,
        low -> Double,
        high -> Double,
        system -> Nullable<Text>,
        code -> Nullable<Text>,
        unit -> Nullable<Text>,
        tenant -> Text,
    }
}

diesel::table! {
    search_reference (tenant, res_type, res_id, param) {
        res_type -> Text,
        res_id -> Text,
        param -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        target_url -> Nullable<Text>,
        identifier_system -> Nullable<Text>,
        identifier_value -> Nullable<Text>,
        tenant -> Text,
    }
}

diesel::table! {
    search_uri (tenant, res_type, res_id, param) {
        res_type -> Text,
        res_id -> Text,
        param -> Text,
        uri -> Text,
        tenant -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    hl7_messages (id) {
        id -> BigInt,
        received_at -> UtcTimestamp,
        sending_application -> Text,
        sending_facility -> Text,
        control_id -> Nullable<Text>,
        message_type -> Text,
        version -> Text,
        status -> Text,
        error -> Nullable<Text>,
        raw -> Text,
        ack -> Text,
        processed_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    billing_claims (id) {
        id -> BigInt,
        claim_id -> Text,
        state -> Text,
        updated_at -> UtcTimestamp,
        charge_cents -> Nullable<BigInt>,
        created_at -> UtcTimestamp,
        submitted_at -> Nullable<UtcTimestamp>,
        first_paid_at -> Nullable<UtcTimestamp>,
        payer -> Nullable<Text>,
        assignee -> Nullable<Text>,
    }
}

// On PostgreSQL `id` is not a key (no statement looks a change up by it): it orders
// a claim's changes. Never use `find()` on this table.
diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    billing_state_history (id) {
        id -> BigInt,
        claim_id -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        actor -> Text,
        reason -> Nullable<Text>,
        details -> Nullable<Text>,
        at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    x12_interchanges (control_number) {
        control_number -> BigInt,
        kind -> Text,
        document -> Text,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    remittances (id) {
        id -> BigInt,
        payer_id -> Text,
        payer_name -> Text,
        trace_number -> Text,
        payment_cents -> BigInt,
        payment_date -> Nullable<Date>,
        raw -> Text,
        received_at -> UtcTimestamp,
        report -> Text,
        posted_claims -> BigInt,
        unmatched_claims -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    ledger_entries (id) {
        id -> BigInt,
        claim_id -> Nullable<Text>,
        remittance_id -> BigInt,
        kind -> Text,
        party -> Text,
        group_code -> Nullable<Text>,
        reason_code -> Nullable<Text>,
        amount_cents -> BigInt,
        posted_at -> UtcTimestamp,
    }
}

diesel::table! {
    unmatched_remittance_claims (id) {
        id -> BigInt,
        remittance_id -> BigInt,
        patient_control_number -> Text,
        payer_claim_control_number -> Nullable<Text>,
        charge_cents -> BigInt,
        paid_cents -> BigInt,
        detail -> Text,
    }
}

diesel::joinable!(unmatched_remittance_claims -> remittances (remittance_id));
diesel::allow_tables_to_appear_in_same_query!(remittances, unmatched_remittance_claims);
// The worklist filters claims by their denials (`claim_id IN (SELECT … FROM claim_denials)`).
diesel::allow_tables_to_appear_in_same_query!(billing_claims, claim_denials);

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    claim_denials (id) {
        id -> BigInt,
        claim_id -> Text,
        remittance_id -> BigInt,
        code -> Text,
        reasons -> Text,
        rarcs -> Text,
        amount_cents -> BigInt,
        category -> Nullable<Text>,
        playbook_id -> Nullable<Text>,
        action -> Text,
        assignee -> Nullable<Text>,
        instructions -> Text,
        attempt -> Integer,
        status -> Text,
        created_at -> UtcTimestamp,
        resolution -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    integrations (id) {
        id -> Text,
        tenant -> Text,
        vendor -> Text,
        name -> Text,
        category -> Text,
        priority -> Integer,
        enabled -> Bool,
        base_url -> Text,
        settings -> Text,
        credentials_ciphertext -> Text,
        credentials_nonce -> Text,
        key_id -> Text,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    integration_attempts (id) {
        id -> BigInt,
        tenant -> Text,
        integration_id -> Text,
        vendor -> Text,
        operation -> Text,
        subject -> Nullable<Text>,
        outcome -> Text,
        error -> Nullable<Text>,
        latency_micros -> BigInt,
        failover -> Bool,
        attempted_at -> UtcTimestamp,
        submission_id -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    jobs (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        dedupe_key -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> UtcTimestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<UtcTimestamp>,
        last_error -> Nullable<Text>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        finished_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    webhook_events (id) {
        id -> BigInt,
        integration_id -> Text,
        vendor -> Text,
        event_id -> Text,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        note -> Nullable<Text>,
        received_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    patient_payments (id) {
        id -> BigInt,
        claim_id -> Nullable<Text>,
        integration_id -> Text,
        kind -> Text,
        external_id -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        event_id -> Text,
        posted_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    webhook_subscriptions (id) {
        id -> Text,
        tenant -> Text,
        url -> Text,
        events -> Text,
        secret_ciphertext -> Text,
        secret_nonce -> Text,
        key_id -> Text,
        enabled -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    webhook_deliveries (id) {
        id -> BigInt,
        subscription_id -> Text,
        event_id -> Text,
        event_type -> Text,
        attempt -> Integer,
        status -> Text,
        http_status -> Nullable<Integer>,
        error -> Nullable<Text>,
        latency_ms -> BigInt,
        delivered_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    feed_cursors (integration_id, feed) {
        integration_id -> Text,
        feed -> Text,
        cursor -> Text,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    auth_clients (client_id) {
        client_id -> Text,
        tenant -> Text,
        name -> Text,
        client_type -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        scopes -> Text,
        jwks -> Nullable<Text>,
        jwks_uri -> Nullable<Text>,
        enabled -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    auth_signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_ciphertext -> Text,
        private_nonce -> Text,
        key_id -> Text,
        public_jwk -> Text,
        created_at -> UtcTimestamp,
        retired_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    auth_assertion_jtis (client_id, jti) {
        client_id -> Text,
        jti -> Text,
        expires_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    auth_users (user_id) {
        user_id -> Text,
        tenant -> Text,
        username -> Text,
        password_hash -> Text,
        display_name -> Text,
        fhir_user -> Nullable<Text>,
        scopes -> Text,
        enabled -> Bool,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    auth_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        code_challenge -> Text,
        nonce -> Nullable<Text>,
        patient -> Nullable<Text>,
        encounter -> Nullable<Text>,
        expires_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    auth_refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        client_id -> Text,
        user_id -> Text,
        scope -> Text,
        patient -> Nullable<Text>,
        encounter -> Nullable<Text>,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        used_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    auth_launch_contexts (launch_id) {
        launch_id -> Text,
        tenant -> Text,
        patient -> Nullable<Text>,
        encounter -> Nullable<Text>,
        created_by -> Text,
        expires_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    auth_revocations (revoked_id) {
        revoked_id -> Text,
        expires_at -> UtcTimestamp,
    }
}
