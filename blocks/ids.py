"""Stable identifiers shared by the renderers and the listeners; old messages still carry them."""

from typing import Final

# Modal
DEPLOY_MODAL: Final = "deploy_modal"

# Input block ids are the vendor API's field names; each input's action_id equals its block id.
MACHINE_ID: Final = "machine_id"
MACHINE_PRICE_ID: Final = "machine_price_id"
IMAGE: Final = "image"
PORTS: Final = "ports"
ENVIRONMENT_VARIABLES: Final = "environment_variables"
SSH_PUB_KEYS: Final = "ssh_pub_keys"
STARTUP_SCRIPT: Final = "startup_script"
EXTERNAL_DEPLOYMENT_ID: Final = "external_deployment_id"
DOCKER_SERVER: Final = "docker_server"
DOCKER_LOGIN: Final = "docker_login"
DOCKER_PASSWORD: Final = "docker_password"  # noqa: S105 — a field name, not a secret
METADATA: Final = "metadata"

INPUT_BLOCKS: Final = (
    MACHINE_ID,
    MACHINE_PRICE_ID,
    IMAGE,
    PORTS,
    ENVIRONMENT_VARIABLES,
    SSH_PUB_KEYS,
    STARTUP_SCRIPT,
    DOCKER_SERVER,
    DOCKER_LOGIN,
    DOCKER_PASSWORD,
    EXTERNAL_DEPLOYMENT_ID,
    METADATA,
)

# Message buttons
STOP_DEPLOYMENT: Final = "stop_deployment"
REDEPLOY: Final = "redeploy"
REFRESH_DEPLOYMENT: Final = "refresh_deployment"
COPY_AS_CURL: Final = "copy_as_curl"
ALL_DEPLOYMENT_BUTTONS: Final = (REFRESH_DEPLOYMENT, REDEPLOY, STOP_DEPLOYMENT, COPY_AS_CURL)
# What a card shows once nothing more can happen to the deployment, and while it starts.
SETTLED_DEPLOYMENT_BUTTONS: Final = (REDEPLOY, COPY_AS_CURL)
STARTING_DEPLOYMENT_BUTTONS: Final = (COPY_AS_CURL,)
NEW_DEPLOYMENT: Final = "new_deployment"

# Presets: the deploy modal's select and "Save as preset" input, the list's buttons
PRESET: Final = "preset"
PRESET_NAME: Final = "preset_name"
DEPLOY_PRESET: Final = "deploy_preset"
DELETE_PRESET: Final = "delete_preset"

# Where a deployment opened outside a channel (a shortcut, the App Home) reports
CHANNEL: Final = "channel"

# Slack's own entry points, declared in the manifest. The global shortcut shares its string
# with the App Home's button; they are two ids that may drift apart.
NEW_DEPLOYMENT_SHORTCUT: Final = "new_deployment"
REDEPLOY_MESSAGE_SHORTCUT: Final = "redeploy_message"
START_DEPLOYMENT_STEP: Final = "start_deployment"

# Admin: the workspace's API key and who may deploy
API_KEY_MODAL: Final = "api_key_modal"
API_KEY: Final = "api_key"
REMOVE_API_KEY: Final = "remove_api_key"
SETTINGS_MODAL: Final = "deploy_settings_modal"
ALLOWED_CHANNELS: Final = "allowed_channels"
ALLOWED_USERS: Final = "allowed_users"
ALLOWED_USERGROUPS: Final = "allowed_usergroups"

# Guardrails: approval, the automatic stop and its reminder, and their settings
STOP_AFTER: Final = "stop_after"  # the deploy modal's "Stop after"; not a vendor field
APPROVE_DEPLOYMENT: Final = "approve_deployment"
REJECT_DEPLOYMENT: Final = "reject_deployment"
REJECT_MODAL: Final = "reject_deployment_modal"
REJECT_REASON: Final = "reject_reason"
EXTEND_DEPLOYMENT: Final = "extend_deployment"
STOP_NOW: Final = "stop_now_deployment"
REQUIRE_APPROVAL: Final = "require_approval"
APPROVAL_REQUIRED: Final = "required"  # the value of require_approval's one checkbox
APPROVERS: Final = "approvers"
DEFAULT_STOP_AFTER: Final = "default_stop_after"
MAX_STOP_AFTER: Final = "max_stop_after"
